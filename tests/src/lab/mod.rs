//! The lab: placeholder.
