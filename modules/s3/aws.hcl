# An S3 bucket for the workload on AWS (`provider "aws"` in baton.hcl), with an IAM user
# whose access key can reach this bucket and nothing else. Bucket names are global to
# all of AWS, so a random suffix (kept in the state) makes the name unique; the rest
# of the name comes from the workload and resource (or the shared id), for people to
# read. Public access is blocked and objects are encrypted (AES256) by default.
provisions "s3" {
  environments = ["prod"]
  description  = "An S3 bucket and an IAM user with an access key limited to it"
  stateful     = true
}

param "versioning" {
  type        = bool
  default     = false
  description = "Keep every version of each object"
}

param "force_destroy" {
  type        = bool
  default     = false
  description = "Delete the objects too when the resource is removed (otherwise a non-empty bucket is kept and the delete fails)"
}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "aws_s3_bucket" "bucket" {
  # Lower-case letters, digits and hyphens, at most 63 characters.
  bucket        = "${trim(substr(replace(lower(score.id != null ? "shared-${score.id}" : "${score.workload}-${score.resource}"), "/[^a-z0-9-]+/", "-"), 0, 40), "-")}-${random_id.suffix.hex}"
  versioning    = param.versioning
  force_destroy = param.force_destroy
  tags = {
    "managed-by"     = "baton"
    "baton:resource" = score.resource
  }
}

resource "aws_iam_user" "user" {
  name = "baton-s3-${aws_s3_bucket.bucket.bucket}"
  path = "/baton/"
  tags = {
    "managed-by" = "baton"
  }
}

resource "aws_iam_access_key" "key" {
  user = aws_iam_user.user.name
}

resource "aws_iam_user_policy" "access" {
  user = aws_iam_user.user.name
  name = "bucket-access"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
        Resource = [aws_s3_bucket.bucket.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = ["${aws_s3_bucket.bucket.arn}/*"]
      },
    ]
  })
}

output "bucket" {
  value = aws_s3_bucket.bucket.bucket
}

output "endpoint" {
  value = provider.aws.endpoint
}

output "region" {
  value = aws_s3_bucket.bucket.region
}

output "access_key_id" {
  value = aws_iam_access_key.key.access_key_id
}

output "secret_key" {
  value     = aws_iam_access_key.key.secret_access_key
  sensitive = true
}

# The same credentials under the names the AWS SDKs' environment variables use.
output "aws_access_key_id" {
  value = aws_iam_access_key.key.access_key_id
}

output "aws_secret_key" {
  value     = aws_iam_access_key.key.secret_access_key
  sensitive = true
}
