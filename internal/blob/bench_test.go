package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
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

// BenchmarkCreateConcurrent measures 50 KB Creates from 32 goroutines, as
// the hub makes them, on the fs and log stores, on the test's temporary
// directory (ext4 here) and on /dev/shm (tmpfs). cpu-us/op is the process's
// user+system CPU time (getrusage) per Create.
//
//	go test -run NONE -bench CreateConcurrent -benchtime 5000x ./internal/blob/
func BenchmarkCreateConcurrent(b *testing.B) {
	const writers, size = 32, 50_000
	dirs := []struct {
		name string
		dir  func(b *testing.B) string
	}{
		{"tmp", func(b *testing.B) string { return b.TempDir() }},
		{"shm", func(b *testing.B) string {
			d, err := os.MkdirTemp("/dev/shm", "blobbench-")
			if err != nil {
				b.Skip("no /dev/shm:", err)
			}
			b.Cleanup(func() { _ = os.RemoveAll(d) })
			return d
		}},
	}
	stores := []struct {
		name string
		open func(dir string) (blob.Store, error)
	}{
		{"fs", func(dir string) (blob.Store, error) { return blob.NewFS(dir) }},
		{"log", func(dir string) (blob.Store, error) { return blob.NewLog(dir) }},
	}
	data := blobtest.Bytes(1, size)
	for _, d := range dirs {
		for _, st := range stores {
			b.Run(st.name+"/"+d.name, func(b *testing.B) {
				s, err := st.open(d.dir(b))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				b.SetBytes(size)
				var next atomic.Int64
				cpu0 := cpuTime(b)
				b.ResetTimer()
				var wg sync.WaitGroup
				for range writers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							key := blob.PacketKey(fmt.Sprintf("%064x", i))
							if _, err := s.Create(ctx, key, bytes.NewReader(data), size, blob.Meta{}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
			})
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
