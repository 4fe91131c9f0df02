pub mod xray_segments;
