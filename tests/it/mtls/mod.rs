//! Issue 16, client certificates (mutual TLS): `--cert` / `--key` and a
//! profile's `cert` / `key`, against an in-process rustls server that
//! refuses with a TLS alert and Debian's nginx (`ssl_verify_client on`),
//! which answers 400; and the checks of the files before anything is sent.

mod files;
mod nginx;
mod rustls_server;
