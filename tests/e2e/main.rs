//! End-to-end tests: the real `iotstack` binary against a fresh local emulator per test, with the
//! live state checked through the AWS API.

mod bad_input;
mod cognito;
mod device_chain;
mod harness;
