"""SSM Parameter Store for strata's sandbox: ``AWS::SSM::Parameter`` from
CloudFormation as AWS documents it. Imported by ``moto_strata.py``; ``install()``
applies it.

AWS (``AWS::SSM::Parameter``,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ssm-parameter.html):
``Tags`` is a JSON *map* of key to value. moto 5.2.5's model hands the property to
its backend as if it were PutParameter's list of ``{Key, Value}``: the parameter
was stored, then the tags failed ("string indices must be integers"), the stack
resource was never recorded, and the next read of the stack's resources created
it again and failed with ParameterAlreadyExists. ``map_tags`` converts the map to
the list before moto's model sees it. Everything else is moto's own model (create,
delete + create on update, delete with the stack; GetParameter(s),
GetParametersByPath, ListTagsForResource answer what the stack made). Not modelled:
IAM evaluation (moto does not check who reads a parameter: the instance role's
least privilege is proven on the template, docs/app-contract.md).
"""

from moto.ssm.models import Parameter


def map_tags():
    create = Parameter.create_from_cloudformation_json.__func__

    def create_with_map_tags(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties", {})
        tags = props.get("Tags")
        if isinstance(tags, dict):
            cloudformation_json = dict(cloudformation_json)
            cloudformation_json["Properties"] = dict(
                props, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
            )
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Parameter.create_from_cloudformation_json = classmethod(create_with_map_tags)


def install():
    map_tags()
