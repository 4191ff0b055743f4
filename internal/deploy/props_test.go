package deploy

import (
	"strings"
	"testing"
)

func TestDecodeCoercesAsCloudFormation(t *testing.T) {
	var p s3Bucket
	err := decode(map[string]interface{}{
		"ObjectLockEnabled": "true",
		"ObjectLockConfiguration": map[string]interface{}{
			"ObjectLockEnabled": "Enabled",
			"Rule":              map[string]interface{}{"DefaultRetention": map[string]interface{}{"Mode": "GOVERNANCE", "Days": "365"}},
		},
		"PublicAccessBlockConfiguration": map[string]interface{}{"BlockPublicAcls": true},
	}, &p)
	if err != nil {
		t.Fatal(err)
	}
	if !isTrue(p.ObjectLockEnabled) || *p.ObjectLockConfiguration.Rule.DefaultRetention.Days != 365 || !isTrue(p.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Errorf("decoded %+v", p)
	}
}

func TestDecodeRefusesWhatItCannotHonour(t *testing.T) {
	for _, c := range []struct {
		props map[string]interface{}
		want  string
	}{
		{map[string]interface{}{"bucketName": "x"}, "property bucketName is not supported"},
		{map[string]interface{}{"VersioningConfiguration": map[string]interface{}{"Status": "Enabled", "MFADelete": "Enabled"}}, "property VersioningConfiguration.MFADelete is not supported"},
		{map[string]interface{}{"OwnershipControls": map[string]interface{}{"Rules": []interface{}{map[string]interface{}{"Owner": "x"}}}}, "property OwnershipControls.Rules[0].Owner is not supported"},
		{map[string]interface{}{"ObjectLockEnabled": "yes"}, "is not a boolean"},
		{map[string]interface{}{"Tags": "x"}, "Tags is a string, want a list"},
	} {
		var p s3Bucket
		if err := decode(c.props, &p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.props, err, c.want)
		}
	}
	var k kmsKey
	if err := decode(map[string]interface{}{"RotationPeriodInDays": "a year"}, &k); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("RotationPeriodInDays %q: %v", "a year", err)
	}
}

func TestDocumentKeepsJSONAsWritten(t *testing.T) {
	var p s3BucketPolicy
	if err := decode(map[string]interface{}{"Bucket": "b", "PolicyDocument": `{"Statement":[{"Resource":"arn:aws:s3:::b/<x>&"}]}`}, &p); err != nil {
		t.Fatal(err)
	}
	got, err := p.PolicyDocument.JSON()
	if want := `{"Statement":[{"Resource":"arn:aws:s3:::b/<x>&"}]}`; err != nil || got != want {
		t.Errorf("document %s (%v), want %s", got, err, want)
	}
}

func TestGeneratedNamesFitAndDiffer(t *testing.T) {
	long := strings.Repeat("Stack", 20)
	a, err := generatedName(long, "ContainmentRole03352B67", 64)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := generatedName(long, "ContainmentRole03352B67", 64)
	if len(a) > 64 || a == b || !strings.HasPrefix(a, "Stack") || !strings.Contains(a, "-Containment") {
		t.Errorf("role names %s and %s", a, b)
	}
	bucket, err := generatedBucketName("essential-ir", "EvidenceBucketFBA44255")
	if err != nil {
		t.Fatal(err)
	}
	if len(bucket) > 63 || bucket != strings.ToLower(bucket) || !strings.HasPrefix(bucket, "essential-ir-evidencebucketfba44255-") {
		t.Errorf("bucket name %s", bucket)
	}
}

func TestEveryTypeListsItsProperties(t *testing.T) {
	for name, typ := range resourceTypes {
		if typ.props == nil || typ.create == nil {
			t.Errorf("%s has no property struct or no creator", name)
		}
		for p := range typ.ignored {
			if _, honoured := typ.props.FieldByName(p); honoured {
				t.Errorf("%s: property %s is both honoured and ignored", name, p)
			}
		}
	}
	for _, attr := range []string{"Type", "Properties", "Condition", "DependsOn"} {
		if _, ok := resourceAttributes[attr]; ok {
			t.Errorf("%s is honoured by internal/cfn, not ignored", attr)
		}
	}
}
