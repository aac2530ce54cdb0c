//! Secret references: `${env:NAME}`, `${file:PATH}`, `${cmd:COMMAND}` (with a timeout), and the
//! non-secret `${sim}` (the simulator's base URL in demo mode).
