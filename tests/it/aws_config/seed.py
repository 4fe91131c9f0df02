"""Seed moto's server with one path's configuration, the way an account
holds it: a REST API (stage with variables and tracing, a resource with a
VPC_LINK HTTP_PROXY integration), a V1 VPC link to an NLB in two zones, a
TCP listener with its idle timeout set, a target group with attributes set
and targets in both zones. Prints the ids as JSON.

Usage: python seed.py ENDPOINT
boto3 (moto's venv) rather than the Rust SDK: the seeding does not depend
on the code under test, and ELBv2 needs EC2 subnets, which coldlink has no
SDK for.
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
ec2 = boto3.client("ec2", **kw)
elb = boto3.client("elbv2", **kw)
apigw = boto3.client("apigateway", **kw)

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]
    for cidr, az in (("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"))
]
image = ec2.describe_images()["Images"][0]["ImageId"]
instances = [
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=s["SubnetId"])["Instances"][0]["InstanceId"]
    for s in subnets
]

lb = elb.create_load_balancer(Name="orders-nlb", Type="network", Scheme="internal",
                              Subnets=[s["SubnetId"] for s in subnets])["LoadBalancers"][0]
lb_arn = lb["LoadBalancerArn"]
elb.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
    {"Key": "load_balancing.cross_zone.enabled", "Value": "false"},
])
tg = elb.create_target_group(Name="orders-tg", Protocol="TCP", Port=8080, VpcId=vpc,
                             TargetType="instance")["TargetGroups"][0]
tg_arn = tg["TargetGroupArn"]
elb.modify_target_group_attributes(TargetGroupArn=tg_arn, Attributes=[
    {"Key": "deregistration_delay.timeout_seconds", "Value": "120"},
    {"Key": "deregistration_delay.connection_termination.enabled", "Value": "true"},
    {"Key": "target_health_state.unhealthy.connection_termination.enabled", "Value": "false"},
    {"Key": "proxy_protocol_v2.enabled", "Value": "true"},
    {"Key": "preserve_client_ip.enabled", "Value": "false"},
])
elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": i, "Port": 8080} for i in instances])
listener = elb.create_listener(LoadBalancerArn=lb_arn, Protocol="TCP", Port=80,
                               DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])["Listeners"][0]
elb.modify_listener_attributes(ListenerArn=listener["ListenerArn"], Attributes=[
    {"Key": "tcp.idle_timeout.seconds", "Value": "300"},
])

link = apigw.create_vpc_link(name="orders-link", targetArns=[lb_arn])["id"]
api = apigw.create_rest_api(name="orders-api", endpointConfiguration={"types": ["REGIONAL"]})["id"]
root = [r for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
order = apigw.create_resource(restApiId=api, parentId=orders, pathPart="{id}")["id"]
for resource in (orders, order):
    apigw.put_method(restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
apigw.put_integration(restApiId=api, resourceId=order, httpMethod="GET", type="HTTP_PROXY",
                      integrationHttpMethod="GET", uri="http://orders-nlb.internal/orders/{id}",
                      connectionType="VPC_LINK", connectionId="${stageVariables.vpcLinkId}",
                      timeoutInMillis=12000)
apigw.put_integration(restApiId=api, resourceId=orders, httpMethod="GET", type="HTTP_PROXY",
                      integrationHttpMethod="GET", uri="http://${stageVariables.backend}-nlb.internal/orders",
                      connectionType="VPC_LINK", connectionId=link)
deployment = apigw.create_deployment(restApiId=api)["id"]
apigw.create_stage(restApiId=api, stageName="test", deploymentId=deployment,
                   variables={"vpcLinkId": link, "backend": "orders"}, tracingEnabled=True)

apigw.create_domain_name(domainName="api.orders.example", regionalCertificateArn=
                         "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                         endpointConfiguration={"types": ["REGIONAL"]}, securityPolicy="TLS_1_2")
apigw.create_base_path_mapping(domainName="api.orders.example", basePath="v1", restApiId=api, stage="test")

# An HTTP API on a V2 VPC link to the same NLB's listener.
v2 = boto3.client("apigatewayv2", **kw)
link2 = v2.create_vpc_link(Name="orders-link-v2", SubnetIds=[s["SubnetId"] for s in subnets],
                           SecurityGroupIds=["sg-0123456789abcdef0"])["VpcLinkId"]
http_api = v2.create_api(Name="orders-http", ProtocolType="HTTP")["ApiId"]
integration = v2.create_integration(ApiId=http_api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
                                    ConnectionType="VPC_LINK", ConnectionId=link2,
                                    IntegrationUri=listener["ListenerArn"], PayloadFormatVersion="1.0",
                                    TimeoutInMillis=15000)["IntegrationId"]
v2.create_route(ApiId=http_api, RouteKey="GET /orders/{id}", Target="integrations/" + integration)
v2.create_route(ApiId=http_api, RouteKey="$default", Target="integrations/" + integration)
v2.create_stage(ApiId=http_api, StageName="prod", StageVariables={"tier": "gold"})

print(json.dumps({
    "http_api": http_api, "vpc_link_v2": link2, "http_integration": integration,
    "rest_api": api, "vpc_link": link, "nlb_arn": lb_arn, "nlb_name": lb["LoadBalancerName"],
    "listener": listener["ListenerArn"], "target_group": tg_arn, "instances": instances,
    "subnets": [s["SubnetId"] for s in subnets],
}))
