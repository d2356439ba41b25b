//! Policy documents: normalisation for comparison, the offline IoT evaluator, and lint.

pub mod eval;
pub mod lint;
pub mod locate;
pub mod normalize;

pub use normalize::normalize;
