//! The console's last answers, reused while the view stands still.
//!
//! Most console answers are a pass over part of the view (every signal, every entry), and
//! every open console asks them again at every refresh. An answer depends only on the
//! question, the valid date and the view's position, so the last answer to each question
//! is kept with the position it is of and given again until the view moves.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

/// How many distinct questions are remembered; past it the memo starts afresh, so that
/// callers varying their query strings cannot make it grow without bound.
const MAX_QUESTIONS: usize = 64;

/// The last answer to each question and the view position it is of.
#[derive(Debug, Default)]
pub struct Answers {
    last: Mutex<HashMap<String, (u64, Value)>>,
}

impl Answers {
    /// The remembered answer to `question` if it is of `position`.
    pub fn get(&self, question: &str, position: u64) -> Option<Value> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.get(question)
            .filter(|(p, _)| *p == position)
            .map(|(_, v)| v.clone())
    }

    /// Remembers `answer` to `question` as of `position`.
    pub fn put(&self, question: String, position: u64, answer: Value) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= MAX_QUESTIONS && !last.contains_key(&question) {
            last.clear();
        }
        last.insert(question, (position, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_is_given_again_only_at_its_position() {
        let a = Answers::default();
        a.put("q".into(), 7, json!(1));
        assert_eq!(a.get("q", 7), Some(json!(1)));
        assert_eq!(a.get("q", 8), None);
        assert_eq!(a.get("other", 7), None);
        a.put("q".into(), 8, json!(2));
        assert_eq!(a.get("q", 8), Some(json!(2)));
        assert_eq!(a.get("q", 7), None);
    }

    #[test]
    fn the_memo_stays_bounded() {
        let a = Answers::default();
        for i in 0..(MAX_QUESTIONS * 3) {
            a.put(format!("q{i}"), 1, json!(i));
        }
        let len = a.last.lock().unwrap_or_else(|e| e.into_inner()).len();
        assert!((1..=MAX_QUESTIONS).contains(&len), "{len}");
        assert_eq!(
            a.get(&format!("q{}", MAX_QUESTIONS * 3 - 1), 1),
            Some(json!(MAX_QUESTIONS * 3 - 1))
        );
    }
}
