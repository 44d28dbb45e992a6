//! The one output format of every benchmark.

/// Prints one figure as `BENCH <name> <value> <unit>` on stdout.
pub fn report(name: &str, value: f64, unit: &str) {
    debug_assert!(
        !name.contains(char::is_whitespace) && !unit.contains(char::is_whitespace),
        "names and units are single words"
    );
    // Whole numbers for anything large enough that decimals are noise; a negative or
    // non-finite value (an empty measurement) is reported as 0 so the line stays parseable.
    let value = if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    };
    if value >= 100.0 {
        println!("BENCH {name} {value:.0} {unit}");
    } else {
        println!("BENCH {name} {value:.2} {unit}");
    }
}
