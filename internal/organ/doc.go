// Package organ holds agency identifiers (mã định danh, edXML OrganId), their
// hierarchy and the directory of agencies the hub serves.
//
// Two forms exist (FORMAT.md §7.3). The 2016 form DDD.DD.DD.Xnn is read from
// the right: Xnn is level 1 and a zero group means "no lower level"; its parent
// zeroes the leftmost non-zero numeric group. Any other valid id is QĐ 20/2020
// form: dot-separated groups of [0-9A-Z], level 1 leftmost; its parent drops the
// rightmost group. The hierarchy is computed from the string alone, so routing
// never needs a lookup table to find an ancestor.
//
// Parse errors wrap ErrEmpty (edxml.missing_field) or ErrInvalid
// (edxml.bad_organ_id). An ID keeps the bytes the sender wrote, apart from
// surrounding whitespace: ids are compared exactly, never case-folded.
//
// A Directory maps ids and old codes (aliases, after the 2025 mergers) to
// agencies and routes an unregistered id to its nearest registered ancestor.
package organ
