// Package hj212 is riverwatch's codec for HJ 212, the Chinese data-transmission standard
// that online water (and air) monitoring stations speak over TCP: HJ 212-2017, the older
// HJ/T 212-2005 and HJ 212-2025, told apart by the version bits of the Flag field
// (../../shared/domain/facts.md §3).
//
// A frame on the wire is
//
//	## dddd <data segment> CCCC \r\n
//
// where dddd is the data segment's length in 4 decimal digits and CCCC the standard's own
// CRC-16 of the data segment (not CRC-16/MODBUS: see CRC16). The data segment is
// "QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&", with PNUM and PNO when the message is split.
//
// The package is layered, each layer strict on its own:
//
//	Decoder        bytes → frames: framing, bounded length, CRC, resynchronisation after junk
//	ParsePacket    data segment → Packet: the header fields, each validated
//	ParseCP        CP → Fields: the key=value syntax, groups, no repeated key
//	ParseData      CP of a data upload (2011, 2051, 2061, 2031) → DataTime and Items
//	Reassembler    split packets (PNUM/PNO) → one Packet
//	LookupPollutant  pollutant code (2017 or 2005) → canonical parameter and transmission unit
//
// Every refusal is an *Error with a stable, lower_snake Reason (ReasonCRC, ReasonBadField,
// …), so that the gateway can count and record it without matching strings.
//
// The encoding side (Encode, AppendFrame, DataCP, Split, Response9014, Client) builds the
// same frames, validated by the same rules, so that a packet that Encode accepts is one
// that ParsePacket accepts. The simulator and the tests speak to the gateway with it.
//
// Parsing allocates little: ParsePacket copies the data segment into one string and every
// field is a substring of it; ParseCP and ParseData append into slices the caller may reuse.
package hj212
