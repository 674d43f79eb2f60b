//! InfluxQL on `/query`: lexer, parser, planner over the core query API,
//! response writer. Semantics follow InfluxDB 1.x.
//!
//! | module | what |
//! |---|---|
//! | [`ast`] | the syntax tree |
//! | `lexer`, `parser` | text → statements, errors with line and column |
//! | [`cast`] | `::integer` and the other type casts of field values |
//! | [`cond`] | WHERE: time bounds, tag predicates, row conditions |
//! | [`exec`] | statements: SHOW …, CREATE DATABASE, dispatch |
//! | [`select`] | SELECT over the core's raw and window queries |
//! | [`result`] | results and InfluxDB's JSON (float printing, epochs) |
//! | [`http`] | the transport: `q`, `db`, `epoch`, `pretty`, `chunked` |

pub mod ast;
pub mod cast;
pub mod cond;
pub mod exec;
pub mod http;
pub mod lexer;
pub mod parser;
pub mod result;
pub mod select;
#[cfg(test)]
mod tests;
