//! Every record to every listener, without ever waiting on one: the lab's
//! servers hand their records to the AWS publishers through this.

use std::sync::Mutex;

use tokio::sync::mpsc;

/// Listeners for records of type `T`. Bounded: a listener that falls
/// behind misses records rather than piling them up or slowing the server.
#[derive(Debug)]
pub struct Fanout<T> {
    listeners: Mutex<Vec<mpsc::Sender<T>>>,
}

impl<T> Default for Fanout<T> {
    fn default() -> Self {
        Fanout {
            listeners: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Clone> Fanout<T> {
    /// Every record from now on, on a channel of `capacity`.
    pub fn subscribe(&self, capacity: usize) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::channel(capacity);
        self.listeners.lock().expect("fanout lock").push(tx);
        rx
    }

    pub fn send(&self, record: &T) {
        for tx in self.listeners.lock().expect("fanout lock").iter() {
            let _ = tx.try_send(record.clone());
        }
    }
}
