//! A single-slot mailbox: the newest value replaces one not taken yet, never a queue.
//!
//! The GUI puts frames for the detection worker into it at the display's rate; the worker takes
//! whichever is newest when it is ready for the next. A slow detector therefore skips frames
//! and never falls behind, and putting never blocks the GUI. The same pattern as the frame
//! link (`crate::feed::link`), without its statistics.

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// The one value a mailbox holds.
const CAPACITY: usize = 1;

/// Creates a mailbox: the sender's end (one producer) and the receiver the consumer waits on
/// (a plain channel receiver, so it can take part in `crossbeam_channel::select!`).
pub fn mailbox<T>() -> (MailboxSender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
    let sender = MailboxSender {
        tx,
        rx_for_replacing: rx.clone(),
    };
    (sender, rx)
}

/// The producer's end. Dropping it disconnects the receiver once the slot is empty.
#[derive(Debug)]
pub struct MailboxSender<T> {
    tx: Sender<T>,
    /// The sender takes the waiting value out itself when the slot is full.
    rx_for_replacing: Receiver<T>,
}

impl<T> MailboxSender<T> {
    /// Puts `value` into the slot and returns the value it replaced, if the consumer had not
    /// taken it yet. Never blocks.
    pub fn put(&mut self, value: T) -> Option<T> {
        let mut value = value;
        let mut replaced = None;
        loop {
            match self.tx.try_send(value) {
                Ok(()) => return replaced,
                Err(TrySendError::Full(rejected)) => {
                    // Only this sender puts (`&mut self`), so once the waiting value is out
                    // there is room; if the consumer took it first, there is room anyway.
                    if let Ok(old) = self.rx_for_replacing.try_recv() {
                        replaced = Some(old);
                    }
                    value = rejected;
                }
                // Cannot happen while we hold a receiver ourselves.
                Err(TrySendError::Disconnected(_)) => return replaced,
            }
        }
    }

    /// Takes the waiting value back out, if the consumer has not taken it.
    pub fn withdraw(&mut self) -> Option<T> {
        self.rx_for_replacing.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_newest_value_replaces_the_waiting_one() {
        let (mut sender, rx) = mailbox();
        assert_eq!(sender.put(1), None);
        assert_eq!(sender.put(2), Some(1));
        assert_eq!(sender.put(3), Some(2));
        assert_eq!(rx.try_recv(), Ok(3));
        assert!(rx.try_recv().is_err(), "one value at most, never a queue");
        assert_eq!(sender.put(4), None, "the slot was emptied");
        assert_eq!(sender.withdraw(), Some(4));
        assert!(rx.try_recv().is_err());
        drop(sender);
        assert!(matches!(
            rx.recv_timeout(Duration::from_millis(10)),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        ));
    }

    #[test]
    fn a_slow_consumer_sees_ever_newer_values_and_the_producer_never_waits() {
        let (mut sender, rx) = mailbox::<u64>();
        let consumer = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while let Ok(value) = rx.recv() {
                seen.push(value);
                // A detector slower than the producer.
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        });
        let mut replaced = 0;
        for value in 1..=2_000u64 {
            // `put` returns at once, replacing what the consumer has not taken (counted below):
            // a producer that waited for the slow consumer would replace nothing.
            if sender.put(value).is_some() {
                replaced += 1;
            }
            if value % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        drop(sender);
        let seen = consumer.join().unwrap();
        assert!(
            seen.windows(2).all(|pair| pair[0] < pair[1]),
            "values arrive newest-first, never out of order: {seen:?}"
        );
        assert_eq!(seen.last(), Some(&2_000), "the last value is never lost");
        assert!(replaced > 0 && seen.len() < 2_000, "a slow consumer skips");
        assert_eq!(
            seen.len() as u64 + replaced,
            2_000,
            "every value taken or replaced"
        );
    }
}
