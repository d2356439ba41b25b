//! End-to-end tests: the real `iotstack` binary against a fresh local emulator per test, with the
//! live state checked through the AWS API. What the emulator cannot show is tested against the
//! SDK's mocks in their own target, `tests/mocked.rs`.

mod anywhere;
mod bad_input;
mod cli;
mod cognito;
mod credentials;
mod destroy_fast;
mod device_bundle;
mod device_chain;
mod doctor;
mod doctor_crosscheck;
mod duplicates;
mod faults;
mod fidelity;
mod fleet;
mod harness;
mod identity_attachments;
mod live;
mod lock;
mod ownership;
mod permissions;
mod readback;
mod record;
mod scale;
mod secret;
mod stacks;
mod validate;
