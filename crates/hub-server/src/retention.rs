//! Retention: the node erases the personal data of its own blacklist entries, white-list
//! entries and awards once they have ended for `privacy.retention_days` days, by
//! publishing `BlacklistEntryErased`, `WhitelistEntryErased` or `AwardErased` with reason
//! `retention_ended` (PIPL art. 19 and 47). When each ends is the view's rule
//! (`hub_view::DueErasure`, `View::due_for_erasure`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hub_types::{Date, EventId, ExpectedVersion, MemberId, NewEvent};
use hub_view::DueErasure;

use crate::hub::Hub;

/// Erases every entity of `own` that ended more than `days` days before `today`; returns
/// how many.
pub async fn sweep_once(
    hub: &Hub,
    own: &BTreeSet<MemberId>,
    today: Date,
    days: u32,
) -> Result<usize, hub_log::Error> {
    let due = hub.view().due_for_erasure(own, today, days);
    let count = due.len();
    for DueErasure { stream, body } in due {
        let event = NewEvent {
            event_id: EventId::new_random(),
            body,
        };
        // `Exists`: an entity is only ever erased after it was added. The view may lag
        // the log, so wait for the erasure to be folded before the next sweep looks again.
        let appended = hub
            .log()
            .append(&stream, ExpectedVersion::Exists, vec![event])
            .await?;
        tracing::info!(%stream, retention_days = days, "retention ended: personal data erased");
        hub.view()
            .wait_for(appended.last.get(), Duration::from_secs(30))
            .await;
    }
    Ok(count)
}

/// Sweeps now and then every `privacy.retention_sweep_s` seconds until the node stops.
pub async fn sweep_forever(hub: Arc<Hub>, own: BTreeSet<MemberId>) {
    let every = Duration::from_secs(hub.config().privacy.retention_sweep_s);
    let mut stopping = hub.stopping();
    loop {
        let days = hub.config().privacy.retention_days;
        if let Err(e) = sweep_once(&hub, &own, hub_view::today(), days).await {
            tracing::error!(error = %e, "retention sweep failed; retrying at the next one");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
    }
}
