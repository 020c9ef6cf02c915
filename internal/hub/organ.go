package hub

import "lienthong/internal/organ"

func organID(s string) organ.ID { return organ.ID(s) }
