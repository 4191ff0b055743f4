package deploy

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// suffixLength is the length of the random part CloudFormation puts at the
// end of the names it generates.
const suffixLength = 12

// suffixAlphabet is the characters of that random part.
const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// generatedName is the name CloudFormation gives a resource whose name
// property is absent: <stack>-<logical ID>-<random>, the stack name and the
// logical ID shortened so that the whole fits in max characters. Each
// deployment of the template so gets names of its own.
func generatedName(stackName, logicalID string, max int) (string, error) {
	random, err := randomSuffix()
	if err != nil {
		return "", err
	}
	budget := max - len(random) - 2
	if budget < 2 {
		return "", fmt.Errorf("no room for a generated name in %d characters", max)
	}
	stackPart, logicalPart := stackName, logicalID
	if len(stackPart)+len(logicalPart) > budget {
		keep := budget - len(logicalPart)
		if keep < budget/2 {
			keep = budget / 2
		}
		if len(stackPart) > keep {
			stackPart = stackPart[:keep]
		}
		if len(stackPart)+len(logicalPart) > budget {
			logicalPart = logicalPart[:budget-len(stackPart)]
		}
	}
	return stackPart + "-" + logicalPart + "-" + random, nil
}

// generatedBucketName is generatedName for S3, whose names are lower case
// and at most 63 characters.
func generatedBucketName(stackName, logicalID string) (string, error) {
	name, err := generatedName(stackName, logicalID, 63)
	return strings.ToLower(name), err
}

// randomSuffix is suffixLength random characters.
func randomSuffix() (string, error) {
	b := make([]byte, suffixLength)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(suffixAlphabet))))
		if err != nil {
			return "", fmt.Errorf("random name suffix: %w", err)
		}
		b[i] = suffixAlphabet[n.Int64()]
	}
	return string(b), nil
}
