//! End-to-end tests: the real `iotstack` binary against a fresh local emulator per test, with the
//! live state checked through the AWS API; and, in `mocked`, tests with the SDK's own test
//! utilities for what the emulator cannot show (throttling, pending subscriptions, names
//! scheduled for deletion).

mod bad_input;
mod cli;
mod cognito;
mod device_chain;
mod doctor;
mod fidelity;
mod harness;
mod mocked;
mod topic_rule_denial;
mod validate;
