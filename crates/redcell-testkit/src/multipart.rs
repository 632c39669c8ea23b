//! `multipart/form-data` bodies, as a browser sends them.

/// A `multipart/form-data` body under construction: text fields and files in
/// the order added.
///
/// ```
/// let form = redcell_testkit::Multipart::new()
///     .text("_csrf", "token")
///     .file("file", "住户.csv", "text/csv", b"a,b\n");
/// let (content_type, body) = form.finish();
/// assert!(content_type.starts_with("multipart/form-data; boundary="));
/// assert!(body.ends_with(b"--\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart::new()
    }
}

impl Multipart {
    pub fn new() -> Multipart {
        Multipart::with_boundary("redcell-testkit-boundary-5e1f")
    }

    /// A body separated by `boundary` (which must not occur in any part).
    pub fn with_boundary(boundary: &str) -> Multipart {
        Multipart { boundary: boundary.to_string(), body: Vec::new() }
    }

    /// A plain field.
    pub fn text(mut self, name: &str, value: impl AsRef<[u8]>) -> Multipart {
        let head = format!("--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n", self.boundary);
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(value.as_ref());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A file field: its name in the form, the file's name and its declared type.
    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Multipart {
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n",
            self.boundary
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header and the whole body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (format!("multipart/form-data; boundary={}", self.boundary), self.body)
    }
}
