package bench

import (
	"encoding/json"
	"strings"
)

// SafetyKind is one of the changes that must be in place before an instance
// is isolated, because an isolated instance fails its health checks and may
// then be replaced or terminated (Documentation/workflow.md, "Secure before
// isolating").
type SafetyKind uint

// The safety changes, in the README's order.
const (
	SafetyTag SafetyKind = iota
	SafetyAutoScalingDetach
	SafetyTerminationProtection
	SafetyStopProtection
	SafetyShutdownStop
	SafetyKeepVolumes
	safetyKinds
)

// String names the change as the README does.
func (k SafetyKind) String() string {
	switch k {
	case SafetyTag:
		return "tag"
	case SafetyAutoScalingDetach:
		return "Auto Scaling detach"
	case SafetyTerminationProtection:
		return "termination protection"
	case SafetyStopProtection:
		return "stop protection"
	case SafetyShutdownStop:
		return "shutdown behaviour"
	case SafetyKeepVolumes:
		return "DeleteOnTermination off"
	}
	return "unknown"
}

// SafetySet is a set of SafetyKinds.
type SafetySet uint

// Has reports whether k is in the set.
func (s SafetySet) Has(k SafetyKind) bool { return s&(1<<k) != 0 }

// Missing lists the kinds not in the set.
func (s SafetySet) Missing() []SafetyKind {
	var out []SafetyKind
	for k := SafetyKind(0); k < safetyKinds; k++ {
		if !s.Has(k) {
			out = append(out, k)
		}
	}
	return out
}

// Count is the number of kinds in the set.
func (s SafetySet) Count() int { return int(safetyKinds) - len(s.Missing()) }

// safetyOf classifies one AWS call: the safety change it makes, if any.
func safetyOf(service, action, parameters string) SafetySet {
	var p map[string]json.RawMessage
	_ = json.Unmarshal([]byte(parameters), &p) // unparsable parameters: no safety change recognised
	switch service + ":" + action {
	case "autoscaling:DetachInstances":
		return 1 << SafetyAutoScalingDetach
	case "ec2:CreateTags":
		var resources []string
		_ = json.Unmarshal(p["Resources"], &resources)
		for _, r := range resources {
			if strings.HasPrefix(r, "i-") {
				return 1 << SafetyTag
			}
		}
	case "ec2:ModifyInstanceAttribute":
		var attribute string
		_ = json.Unmarshal(p["Attribute"], &attribute)
		switch {
		case p["DisableApiTermination"] != nil || attribute == "disableApiTermination":
			return 1 << SafetyTerminationProtection
		case p["DisableApiStop"] != nil || attribute == "disableApiStop":
			return 1 << SafetyStopProtection
		case p["InstanceInitiatedShutdownBehavior"] != nil || attribute == "instanceInitiatedShutdownBehavior":
			return 1 << SafetyShutdownStop
		case p["BlockDeviceMappings"] != nil:
			return 1 << SafetyKeepVolumes
		}
	}
	return 0
}
