//! `bg95-emu run`: drives a module through a scenario's steps.
