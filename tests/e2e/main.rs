//! End-to-end tests: the real `iotstack` binary against a fresh local emulator per test, with the
//! live state checked through the AWS API; and, in `mocked`, tests with the SDK's own test
//! utilities for what the emulator cannot show (throttling, pending subscriptions, names
//! scheduled for deletion).

mod anywhere;
mod bad_input;
mod cli;
mod cognito;
mod credentials;
mod device_bundle;
mod device_chain;
mod doctor;
mod doctor_crosscheck;
mod harness;
mod live;
mod lock;
mod mocked;
mod ownership;
mod permissions;
mod stacks;
mod validate;
