// Package config decodes and validates the dxwatch configuration file.
//
// Decoding is strict: an unknown key is an error. Defaults are set in code
// before decoding. Validation is separate from decoding and complete: every
// problem is reported at once, each prefixed by its YAML path and, where the
// decoder knows it, the file's line:
//
//	links[1].amazon_address (line 14): 169.254.10.1 is not in CIDR form, want e.g. 169.254.10.1/30
//
// Loading is bounded in time and memory: a file is at most MaxFileSize, its
// aliases may add at most MaxAliasNodes values, it holds one YAML document,
// and an Error lists at most MaxProblems problems, echoing at most
// problem.MaxQuoted characters of a value.
//
// The probe kinds are listed once, in Config: each has its own section whose
// type, defaults and validation live in the probe's package.
package config
