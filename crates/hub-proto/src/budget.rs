//! Byte budgets for answers that list items: a page ends before the item that would carry
//! its encoded message past the budget, and says where to continue. One item larger than
//! the whole budget still goes out, alone, so that a listing always makes progress.

use prost::Message;

/// Room left on one page, in encoded bytes.
#[derive(Debug, Clone, Copy)]
pub struct ByteBudget {
    left: usize,
    taken: usize,
}

impl ByteBudget {
    /// A page of at most `bytes` encoded bytes of items.
    pub fn new(bytes: usize) -> Self {
        Self {
            left: bytes,
            taken: 0,
        }
    }

    /// Takes room for `item` as one element of a repeated message field. False, taking
    /// nothing, when it does not fit and the page already holds an item.
    pub fn admit<M: Message>(&mut self, item: &M) -> bool {
        let len = item.encoded_len();
        // Tag (one byte for field numbers below 16), length prefix, body.
        let size = 1 + prost::encoding::encoded_len_varint(len as u64) + len;
        if self.taken > 0 && size > self.left {
            return false;
        }
        self.left = self.left.saturating_sub(size);
        self.taken += 1;
        true
    }
}

/// Keeps the longest prefix of `items` that fits in `bytes` (at least one item).
pub fn fit<M: Message>(items: &mut Vec<M>, bytes: usize) {
    let mut budget = ByteBudget::new(bytes);
    let keep = items
        .iter()
        .position(|item| !budget.admit(item))
        .unwrap_or(items.len());
    items.truncate(keep);
}

/// The item budget of a page under a message limit of `max_message_bytes`, leaving room
/// for the answer's other fields (positions, tokens, the answer's basis).
pub fn page_bytes(max_message_bytes: usize) -> usize {
    max_message_bytes
        .saturating_sub(16 * 1024)
        .max(max_message_bytes / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    fn event(payload: usize) -> pb::Event {
        pb::Event {
            event_id: "x".repeat(payload),
            ..Default::default()
        }
    }

    #[test]
    fn a_page_stops_before_the_item_that_would_pass_the_budget() {
        let mut items: Vec<pb::Event> = (0..10).map(|_| event(100)).collect();
        let one = {
            let mut b = ByteBudget::new(usize::MAX);
            let before = b.left;
            b.admit(&items[0]);
            before - b.left
        };
        fit(&mut items, one * 3 + one / 2);
        assert_eq!(items.len(), 3);
        let wrapper = pb::ReadAllResponse {
            events: items,
            ..Default::default()
        };
        assert!(wrapper.encoded_len() <= one * 3 + one / 2);
    }

    #[test]
    fn an_item_larger_than_the_budget_goes_out_alone() {
        let mut items = vec![event(5000), event(10)];
        fit(&mut items, 100);
        assert_eq!(items.len(), 1);
        let mut none: Vec<pb::Event> = Vec::new();
        fit(&mut none, 100);
        assert!(none.is_empty());
    }

    #[test]
    fn the_page_budget_leaves_room_for_the_rest_of_the_answer() {
        assert_eq!(page_bytes(4 << 20), (4 << 20) - 16 * 1024);
        assert_eq!(page_bytes(1024), 512);
    }
}
