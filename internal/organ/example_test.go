package organ_test

import (
	"errors"
	"fmt"

	"github.com/lienthong/lienthong/internal/organ"
)

func ExampleParse() {
	id, err := organ.Parse(" 000.01.12.H29 ")
	fmt.Println(id, id.Form(), id.Level(), id.Ancestors(), err)

	_, err = organ.Parse("Bộ Tài chính")
	fmt.Println(errors.Is(err, organ.ErrInvalid), err)
	// Output:
	// 000.01.12.H29 2016 3 [000.00.12.H29 000.00.00.H29] <nil>
	// true invalid agency id "Bộ Tài chính": non-ASCII character 'ộ' (U+1ED9) at offset 1
}

func ExampleDirectory_Route() {
	d, err := organ.NewDirectory([]organ.Agency{
		{ID: "000.00.00.H29", Name: "UBND tỉnh"},
		{ID: "000.00.00.G12", Name: "Bộ Tài chính", Aliases: []organ.ID{"000.00.00.G13"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, to := range []organ.ID{"000.00.12.H29", "000.00.00.G13", "000.00.00.H30"} {
		a, exact, ok := d.Route(to)
		fmt.Printf("%s → %q exact=%v ok=%v\n", to, a.ID, exact, ok)
	}
	// Output:
	// 000.00.12.H29 → "000.00.00.H29" exact=false ok=true
	// 000.00.00.G13 → "000.00.00.G12" exact=true ok=true
	// 000.00.00.H30 → "" exact=false ok=false
}
