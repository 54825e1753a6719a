# A host name for the workload in a Route 53 zone: the zone of `provider "aws"
# { zone_id = …, domain = … }` in baton.hcl, or the params. The name is derived from the
# resource's uid: stable across runs, unique per resource.
#
# The module claims the name with an ownership record (TXT, at `_baton-owner.HOST`,
# like external-dns's registry records): a second resource wanting the same name fails
# instead of taking it over. Where the host points is a `route`'s job (an A or CNAME
# record at HOST itself); the ownership record sits beside it, so the two never clash.
provisions "dns" {
  environments = ["prod"]
  description  = "A host name in a Route 53 zone, claimed with an ownership record"
}

param "zone_id" {
  type        = string
  default     = null
  description = "The Route 53 zone id (default: zone_id of provider \"aws\")"
}

param "domain" {
  type        = string
  default     = null
  description = "The zone's domain (default: domain of provider \"aws\")"
}

resource "aws_route53_record" "owner" {
  zone_id = coalesce(param.zone_id, provider.aws.zone_id)
  name    = "_baton-owner.${physical_name(score, "-", 63, lookup(environment.settings, "name_prefix", ""))}.${coalesce(param.domain, provider.aws.domain)}"
  type    = "TXT"
  ttl     = 300
  records = ["\"heritage=baton,uid=${score.uid}\""]
}

output "host" {
  value = trimprefix(aws_route53_record.owner.name, "_baton-owner.")
}
