//! End-to-end tests and the traffic lab (simulated cluster in network namespaces).

pub mod lab;
