# An SQS queue for the workload on AWS, with a dead-letter queue that receives the
# messages received too often, and an IAM user whose access key can use these two
# queues and nothing else. `queue` is a custom type (not a Score standard type):
# request it as `type: queue`.
provisions "queue" {
  environments = ["prod"]
  description  = "An SQS queue with a dead-letter queue, and an IAM user with an access key limited to them"
  stateful     = true
}

param "visibility_timeout" {
  type        = number
  default     = 30
  description = "Seconds a received message stays hidden from other consumers"
}

param "max_receive_count" {
  type        = number
  default     = 5
  description = "Receives before a message moves to the dead-letter queue"
}

resource "aws_sqs_queue" "dead_letter" {
  # Letters, digits, hyphens and underscores, at most 80 characters.
  name                      = "${physical_name(score, "-", 50, lookup(environment.settings, "name_prefix", ""))}-dlq"
  message_retention_seconds = 1209600
}

resource "aws_sqs_queue" "queue" {
  name                  = physical_name(score, "-", 50, lookup(environment.settings, "name_prefix", ""))
  visibility_timeout    = param.visibility_timeout
  dead_letter_queue_arn = aws_sqs_queue.dead_letter.arn
  max_receive_count     = param.max_receive_count
  tags = {
    "managed-by" = "baton"
  }
}

resource "aws_iam_user" "user" {
  name = "baton-sqs-${aws_sqs_queue.queue.name}"
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
  name = "queue-access"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Action = [
          "sqs:SendMessage",
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:ChangeMessageVisibility",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
        ]
        Resource = [aws_sqs_queue.queue.arn, aws_sqs_queue.dead_letter.arn]
      },
    ]
  })
}

output "url" {
  value = aws_sqs_queue.queue.url
}

output "arn" {
  value = aws_sqs_queue.queue.arn
}

output "dead_letter_url" {
  value = aws_sqs_queue.dead_letter.url
}

output "region" {
  value = provider.aws.region
}

output "endpoint" {
  value = provider.aws.sqs_endpoint
}

output "access_key_id" {
  value = aws_iam_access_key.key.access_key_id
}

output "secret_key" {
  value     = aws_iam_access_key.key.secret_access_key
  sensitive = true
}
