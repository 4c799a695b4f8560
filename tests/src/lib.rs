//! End-to-end tests and the traffic lab: real binaries, real servers and
//! clients in network namespaces, real browsers. This library holds what the
//! tests share: process guards, a throw-away network host, a minimal
//! WebDriver client for headless Chromium, and the lab (a simulated cluster).
//! It does not test anything itself; tests/tests/*.rs do.

pub mod base64;
pub mod lab;
pub mod netns;
pub mod process;
pub mod viewer;
pub mod webdriver;
