package console

import (
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

// Status names on Vietnamese pages are the standard's (FORMAT.md §6),
// without the code: "Đã đến", not "Đã nhận" nor "01 Đã nhận".
func TestStatusNamesAreTheStandards(t *testing.T) {
	for _, c := range []edxml.StatusCode{edxml.StatusArrived, edxml.StatusRejected, edxml.StatusAccepted, edxml.StatusAssigned,
		edxml.StatusProcessing, edxml.StatusCompleted, edxml.StatusTakeBack, edxml.StatusChangeAccepted, edxml.StatusChangeRejected} {
		if got, want := messages["vi"].Code(c), c.Name(); got != want {
			t.Errorf("status %s reads %q, the standard says %q", c, got, want)
		}
	}
}
