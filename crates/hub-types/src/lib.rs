//! The Talent Hub domain: identifiers, event bodies, validation and the fold into the view.
//!
//! Everything here is pure: no I/O, no async, no storage or transport types.
//!
//! - [`ids`]: members (GB/T 2260 codes), streams, event ids, positions.
//! - [`time`]: dates (valid time), timestamps (record time), quarters.
//! - [`values`]: the validated values inside event bodies.
//! - [`event`]: the event kinds of the three families and their envelope.
//! - [`fold`]: the fold from events to the shared view, versioned by position.
//! - [`roster`]: the alliance's member cities.
//! - [`subject`]: national ID numbers and the keyed hash that replaces them.
//! - [`error`]: the validation error, which names the offending field.

mod compact;
pub mod error;
pub mod event;
pub mod fold;
pub mod ids;
pub mod roster;
mod short_text;
pub mod subject;
pub mod time;
pub mod values;

pub use error::{Quoted, Result, ValidationError};
pub use event::{Body, Event, EventKind, ExpectedVersion, NewEvent};
pub use ids::{EventId, Family, LocalId, MemberId, OriginSeq, Position, StreamId, SubjectRef};
pub use time::{Date, Period, Timestamp};
