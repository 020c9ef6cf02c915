package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/blob/blobtest"
)

// BenchmarkCreate measures Create throughput (MB/s) on FS and, when
// LIENTHONG_TEST_S3_ENDPOINT is set, on S3. "sha256" runs give Meta.SHA256,
// which lets S3 stream a large object instead of spooling it first.
//
//	go test -run NONE -bench Create -benchtime 20x ./internal/blob/
func BenchmarkCreate(b *testing.B) {
	stores := []struct {
		name string
		new  func(b *testing.B) blob.Store
	}{
		{"fs", func(b *testing.B) blob.Store {
			s, err := blob.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	if os.Getenv("LIENTHONG_TEST_S3_ENDPOINT") != "" {
		stores = append(stores, struct {
			name string
			new  func(b *testing.B) blob.Store
		}{"s3", func(b *testing.B) blob.Store {
			cfg := s3Config(b)
			cfg.PartSize = 0 // the default, as in production
			return newS3(b, cfg)
		}})
	}
	sizes := []struct {
		name string
		n    int
	}{{"50KB", 50_000}, {"100MB", 100_000_000}}
	for _, st := range stores {
		for _, size := range sizes {
			data := blobtest.Bytes(1, size.n)
			for _, withDigest := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s", st.name, size.name)
				var meta blob.Meta
				if withDigest {
					name += "/sha256"
					meta.SHA256 = blobtest.Digest(data)
				}
				b.Run(name, func(b *testing.B) {
					s := st.new(b)
					ctx := context.Background()
					b.SetBytes(int64(size.n))
					var keys []string
					for i := 0; b.Loop(); i++ {
						key := fmt.Sprintf("bench/%d", i)
						keys = append(keys, key)
						if _, err := s.Create(ctx, key, bytes.NewReader(data), int64(size.n), meta); err != nil {
							b.Fatal(err)
						}
					}
					// Free the disk: 100 MB objects add up.
					ctx, cancel := context.WithTimeout(ctx, time.Minute)
					defer cancel()
					for _, k := range keys {
						if err := s.Delete(ctx, k); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
