package lab

import _ "embed" // the lab's dxwatch configuration

// DxwatchConfig is dxwatch's configuration for the lab: the text of
// lab/dxwatch.yaml, which dxwatch reads in the demo and by hand. Tests take
// it through labsite.Config, which changes its sections.
//
//go:embed dxwatch.yaml
var DxwatchConfig string
