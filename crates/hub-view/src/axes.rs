//! The two time axes of a question: valid time (a date) and record time (a log cut).

use std::time::{SystemTime, UNIX_EPOCH};

use hub_proto::convert::timestamp_from_proto;
use hub_proto::pb;
use hub_types::error::AtField;
use hub_types::fold::History;
use hub_types::{Date, Position, ValidationError};

use crate::{Error, Inner, Result};

/// Where on the record-time axis a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Everything the view holds.
    Newest,
    /// The log up to and including this position (0 = before the first event).
    At(u64),
}

/// A question's resolved time axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axes {
    /// Valid time.
    pub date: Date,
    /// Record time.
    pub cut: Cut,
    /// The position the answer reflects.
    pub position: u64,
}

impl Axes {
    /// The answer's basis, as returned to the client.
    pub fn basis(&self) -> pb::AnswerBasis {
        pb::AnswerBasis {
            position: self.position,
            on_date: self.date.to_string(),
        }
    }

    /// The entity's version as of this cut, if it existed then.
    pub fn version<'h, T>(&self, history: &'h History<T>) -> Option<&'h T> {
        match self.cut {
            Cut::Newest => Some(history.current()),
            Cut::At(p) => Position::new(p).ok().and_then(|p| history.at(Some(p))),
        }
    }

    /// As [`Axes::version`], with the position of the event that made that version.
    pub fn made<'h, T>(&self, history: &'h History<T>) -> Option<(Position, &'h T)> {
        match self.cut {
            Cut::Newest => history.made_at(None),
            Cut::At(p) => Position::new(p).ok().and_then(|p| history.made_at(Some(p))),
        }
    }
}

/// Today's date in UTC.
pub fn today() -> Date {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    Date::from_days_since_epoch(days as i32)
}

/// Resolves a request's `time` field against the view.
pub(crate) fn resolve(time: Option<&pb::TimeAxes>, inner: &Inner) -> Result<Axes> {
    let default = pb::TimeAxes::default();
    let time = time.unwrap_or(&default);
    let date = if time.on_date.is_empty() {
        today()
    } else {
        time.on_date.parse::<Date>().at("time.on_date")?
    };
    let position = inner.position();
    let cut = match (time.at_position, &time.as_of) {
        (0, None) => Cut::Newest,
        (p, None) if p > position => {
            return Err(Error::NotYet {
                field: "time.at_position",
                requested: p,
                position,
            })
        }
        (p, None) => Cut::At(p),
        (0, Some(ts)) => {
            let t = timestamp_from_proto(ts).at("time.as_of")?;
            let known = inner.stored_at.partition_point(|s| *s <= t.micros());
            Cut::At(known as u64)
        }
        (_, Some(_)) => {
            return Err(ValidationError::new(
                "time.as_of",
                "give either at_position or as_of, not both",
            )
            .into())
        }
    };
    let at = match cut {
        Cut::Newest => position,
        Cut::At(p) => p,
    };
    Ok(Axes {
        date,
        cut,
        position: at,
    })
}
