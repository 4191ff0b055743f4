package emulator

// InstanceStoreAMI is an AMI of moto's catalogue whose instances are
// instance-store-backed (RootDeviceType "instance-store", no EBS root
// volume). RegisterImage with an ImageLocation and no block device mappings
// registers another.
const InstanceStoreAMI = "ami-04681a1dbd79675b6"
