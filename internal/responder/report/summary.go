package report

import "encoding/json"

// containment is what a containment execution's output (and the summary
// object it writes) says was changed.
type containment struct {
	InstanceId, IncidentId, Outcome string
	DetachedFromAutoScalingGroups   []string
	TerminationProtection           beforeAfter[bool]
	StopProtection                  beforeAfter[bool]
	ShutdownBehaviour               beforeAfter[string]
	IsolationGroupId                string
	NetworkInterfaces               []struct {
		NetworkInterfaceId string
		PreviousGroups     []string
	}
	DetachedInstanceProfiles []string
	// InstanceProfileRoles are the roles of the detached profile, whose
	// deny policies (DenyPolicies) deny the credentials issued to it.
	InstanceProfileRoles []string
	// DenyPolicies are the incident's deny policies, from its revocation
	// execution (not part of the instance's output).
	DenyPolicies                         []string `json:"-"`
	DeregisteredFromTargetGroups         []string
	DeregisteredFromClassicLoadBalancers []string
	ElasticIps, DisassociatedElasticIps  []string
	SnapshotCount                        int
	SnapshotsStarted                     []string
	AlreadyPreservedSnapshots            []string
	Tags                                 []struct{ Key, Value string }
}

// beforeAfter is a value the workflow changed, with what it was.
type beforeAfter[T any] struct {
	Before, After *T
}

// preserved is an evidence execution's output.
type preserved struct {
	Snapshots []Snapshot
}

// Snapshot is one evidence snapshot an evidence execution secured.
type Snapshot struct {
	VolumeID   string `json:"volumeId"`
	SnapshotID string `json:"snapshotId"`
	// DeletedUnencryptedSnapshotID is the unencrypted snapshot this
	// encrypted copy replaced.
	DeletedUnencryptedSnapshotID string `json:"deletedUnencryptedSnapshotId,omitempty"`
}

// UnmarshalJSON reads the workflow's PascalCase names.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	var v struct{ VolumeId, SnapshotId, DeletedUnencryptedSnapshotId string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Snapshot{VolumeID: v.VolumeId, SnapshotID: v.SnapshotId, DeletedUnencryptedSnapshotID: v.DeletedUnencryptedSnapshotId}
	return nil
}
