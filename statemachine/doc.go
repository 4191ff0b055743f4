// Package statemachine builds the essential-ir containment workflow: an AWS
// Step Functions state machine, written with CDK constructs, that contains
// compromised EC2 instances and preserves their evidence.
//
// Each containment step lives in one file, holding the states that act, the
// states that read the change back to verify it, and the IAM access the step
// needs:
//
//	input.go         validate the execution input before anything is touched
//	metadata.go      collect instance metadata (the pre-containment record)
//	tag.go           tag the instance as under investigation
//	autoscaling.go   detach from its Auto Scaling group (desired capacity kept)
//	protection.go    termination and stop protection, shutdown behaviour "stop"
//	volumes.go       DeleteOnTermination off on every EBS volume
//	isolation.go     the isolation security group and the ENI swap
//	profile.go       detach the IAM instance profile (and name its role)
//	revocation.go    deny the credentials already issued to the fleet's
//	                 instances: managed deny policies on their roles, in
//	                 executions of their own beside containment
//	targetgroups.go  deregister from every ELBv2 target group (listed once
//	                 for the fleet when they fit a page)
//	classicelb.go    deregister from every classic load balancer (likewise)
//	addresses.go     record (and, if asked, disassociate) Elastic IPs
//	record.go        the pre-incident record in the evidence bucket
//	screenshot.go    the console screenshot, best effort
//	snapshots.go     start a snapshot of every volume; secure one snapshot
//	evidence.go      the evidence phase: secure every started snapshot
//	fleet.go         each instance's two executions: containment, evidence
//	workflow.go      the order of the steps and the per-instance summary
//
// The definition is JSONPath Amazon States Language made only of aws-sdk
// service integrations and Step Functions' own startExecution (each
// instance's executions): no Lambda.
package statemachine
