//! Firesteel ML library (work in progress; see issue 3).
