//! The one error type of the Rust API: a status plus a human-readable detail.

use crate::Status;
use std::fmt;

/// A failed operation: the [`Status`] a C caller gets, and the text `hamux_last_error` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(Status::Invalid, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(Status::Config, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}
