// Package blob stores the exact bytes of packets (and their verification
// reports) as immutable objects.
//
// [Store] is the seam; its doc comment is the contract. Two implementations
// pass the same acceptance suite (package blobtest):
//
//   - [FS], the embedded default: one file per object under a directory,
//     created with a hard link so that creation is atomic and exclusive, and
//     fsynced before Create returns.
//   - [S3], any S3 API server through minio-go (versitygw in CI, MinIO or AWS
//     in production), with conditional writes (If-None-Match: *).
//
// [WithMetrics] decorates any Store with Prometheus collectors. Keys are
// built in one place, [PacketKey] and [ReportKey].
package blob
