// Package blob stores the exact bytes of packets (and their verification
// reports) as immutable objects.
//
// [Store] is the seam; its doc comment is the contract. Three
// implementations pass the same acceptance suite (package blobtest):
//
//   - [Log], the embedded default for a new directory ([OpenDir],
//     blob.fs.layout): objects appended to segment files, an index in
//     bbolt; concurrent Creates share one fdatasync and one
//     index commit; [Log.Compact] reclaims deleted records.
//   - [FS], the earlier embedded layout, under a directory: objects of known size
//     up to 16 KiB in one bbolt file, the others one file each, created with
//     a hard link so that creation is atomic and exclusive; both are synced
//     before Create returns.
//   - [S3], any S3 API server through minio-go (versitygw in CI, MinIO or AWS
//     in production), with conditional writes (If-None-Match: *).
//
// [WithMetrics] decorates any Store with Prometheus collectors. Keys are
// built in one place, [PacketKey] and [ReportKey].
package blob
