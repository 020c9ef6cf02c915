package bench

import (
	"fmt"
	"io"
	"time"
)

// Result is what bench reports; with --json it is printed as one
// object.
type Result struct {
	Mode        string `json:"mode"` // "embedded" or "external"
	Log         bool   `json:"log"`  // the embedded hub kept the verifiable log
	PDF         string `json:"pdf"`  // the attachment: plain or signed
	Store       string `json:"store"`
	Packets     int    `json:"packets"`
	SizeBytes   int64  `json:"size_bytes"` // mean packet size
	Concurrency int    `json:"concurrency"`
	Agencies    int    `json:"agencies"`

	Accepted   int `json:"accepted"`   // submits answered 2xx
	Deliveries int `json:"deliveries"` // inbox entries expected for them
	Delivered  int `json:"delivered"`  // inbox entries seen
	Errors     int `json:"errors"`     // submits answered otherwise, or failed

	HubPerS      float64 `json:"hub_per_s"`      // packets / (first submit → last delivered)
	AcceptedPerS float64 `json:"accepted_per_s"` // packets / (first submit → last 2xx)
	FloorPerS    float64 `json:"floor_per_s"`    // packets / floor time
	Ratio        float64 `json:"ratio"`          // hub_per_s / floor_per_s

	P50Ms float64 `json:"p50_ms"` // submit latency of the 2xx answers
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`

	DurationS float64 `json:"duration_s"` // first submit → last delivered
	AcceptS   float64 `json:"accept_s"`   // first submit → last 2xx
	FloorS    float64 `json:"floor_s"`
	PrepareS  float64 `json:"prepare_s"` // building and signing the packets
	TotalS    float64 `json:"total_s"`   // the whole run, setup included

	FloorBlobP50Ms    float64 `json:"floor_blob_p50_ms"`
	FloorBlobP99Ms    float64 `json:"floor_blob_p99_ms"`
	FloorProduceP50Ms float64 `json:"floor_produce_p50_ms"`
	FloorProduceP99Ms float64 `json:"floor_produce_p99_ms"`
	FloorEventBytes   int     `json:"floor_event_bytes"`

	// CPU time (getrusage, user and system) per packet. In an embedded run
	// this process holds the hub and its broker (kfake): HubCPUMsPerPacket
	// is its CPU from the first submit to the last delivery. The load
	// generator (HTTP client, inbox polls) runs in a child process
	// (Generator "child"), whose whole CPU is ClientCPUMsPerPacket; with
	// Generator "in-process" (a binary that cannot re-run itself, or an
	// external hub) it is in HubCPUMsPerPacket instead, and
	// ClientCPUMsPerPacket is 0. NecessaryCPUMsPerPacket is the phase
	// that does only the work the hub must do (necessaryPhase), in this
	// process on the same packets; NecessaryPDF says it checked the PDF's
	// signatures, as the hub does. 0 where getrusage is not available.
	Generator               string  `json:"generator"` // "child" or "in-process"
	HubCPUMsPerPacket       float64 `json:"hub_cpu_ms_per_packet"`
	ClientCPUMsPerPacket    float64 `json:"client_cpu_ms_per_packet"`
	NecessaryCPUMsPerPacket float64 `json:"necessary_cpu_ms_per_packet"`
	CPURatio                float64 `json:"cpu_ratio"` // hub / necessary
	NecessaryPerS           float64 `json:"necessary_per_s"`
	NecessaryS              float64 `json:"necessary_s"`
	NecessaryPDF            bool    `json:"necessary_pdf"`

	// StageMs is the mean time of each submit stage over the run, from
	// the hubs' lienthong_submit_stage_seconds (absent when /metrics is
	// not served at the hub's base URL).
	StageMs map[string]float64 `json:"stage_ms,omitempty"`
	// SchedMeanMs and SchedP99Ms: how long this process's goroutines
	// waited for a core during the submits (the embedded hub's and
	// kfake's, and the load generator's when it runs in-process).
	SchedMeanMs float64 `json:"sched_mean_ms"`
	SchedP99Ms  float64 `json:"sched_p99_ms"`

	Complete     bool     `json:"complete"`
	Note         string   `json:"note,omitempty"`
	ErrorSamples []string `json:"error_samples,omitempty"`
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, pct int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (pct*len(sorted) + 99) / 100 // ceil(pct/100 × n)
	return sorted[max(rank, 1)-1]
}

func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// Print writes the figures as lines for a reader (--json prints r
// itself).
func (r *Result) Print(w io.Writer) {
	hub := "embedded hub (kfake, " + r.Store + " store"
	if r.Log {
		hub += ", verifiable log"
	}
	hub += ")"
	if r.Mode == "external" {
		hub = "external hub"
	}
	pdf := "an unsigned PDF"
	if r.PDF == "signed" {
		pdf = "a PDF sealed by the sender"
	}
	fmt.Fprintf(w, "lienthong bench: %d packets of %.1f KB (CMS-signed, carrying %s), %d agencies, concurrency %d, %s\n",
		r.Packets, float64(r.SizeBytes)/1000, pdf, r.Agencies, r.Concurrency, hub)
	fmt.Fprintf(w, "  prepare   built and signed the packets in %.2f s (not timed below)\n", r.PrepareS)
	fmt.Fprintf(w, "  accepted  %d in %.2f s: %.0f packets/s\n", r.Accepted, r.AcceptS, r.AcceptedPerS)
	fmt.Fprintf(w, "  delivered %d of %d inbox entries, last after %.2f s: %.0f packets/s end to end\n", r.Delivered, r.Deliveries, r.DurationS, r.HubPerS)
	fmt.Fprintf(w, "  latency   submit p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
	if r.FloorPerS > 0 {
		fmt.Fprintf(w, "  floor     %d blob creates + %d produces (acks=all, %d-byte events) in %.2f s: %.0f /s; create p50 %.1f ms p99 %.1f ms, produce p50 %.1f ms p99 %.1f ms\n",
			r.Packets, r.Packets, r.FloorEventBytes, r.FloorS, r.FloorPerS, r.FloorBlobP50Ms, r.FloorBlobP99Ms, r.FloorProduceP50Ms, r.FloorProduceP99Ms)
		fmt.Fprintf(w, "  ratio     hub / floor = %.2f\n", r.Ratio)
	}
	switch {
	case r.HubCPUMsPerPacket > 0 && r.Generator == "child":
		fmt.Fprintf(w, "  cpu       hub phase %.2f ms per packet of this process's CPU (the hub and kfake); the load generator, a child process, %.2f ms\n",
			r.HubCPUMsPerPacket, r.ClientCPUMsPerPacket)
	case r.HubCPUMsPerPacket > 0:
		fmt.Fprintf(w, "  cpu       hub phase %.2f ms per packet of this process's CPU (the hub, kfake and the load generator in one process)\n", r.HubCPUMsPerPacket)
	}
	if r.NecessaryPerS > 0 {
		pdf := ""
		if r.NecessaryPDF {
			pdf = ", PDF signatures checked"
		}
		fmt.Fprintf(w, "  necessary the necessary work alone (spool, parse, CMS verify%s, create, produce, receipt, view; kfake in process) in %.2f s: %.0f /s, %.2f ms of CPU per packet\n",
			pdf, r.NecessaryS, r.NecessaryPerS, r.NecessaryCPUMsPerPacket)
	}
	if r.CPURatio > 0 {
		fmt.Fprintf(w, "  cpu ratio hub / necessary = %.2f\n", r.CPURatio)
	}
	fmt.Fprintf(w, "  errors    %d\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "            %s\n", s)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "  note      %s\n", r.Note)
	}
}
