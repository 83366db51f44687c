//! Firesteel graph library (work in progress; see issue 4).
