//! Property checks for fuzz targets and the corpus replay: hidden, not part of the API.
