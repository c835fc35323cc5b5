//! The Lifeboat executor. It walks a compiled [`lifeboat_dsl::plan::Plan`],
//! calls [`action::Actions`] for every step, and knows nothing of OpenStack.

pub mod action;
