// A typed Fargate::App for CDK stacks. Its props are the interface generated from the
// registry schema (schema/Fargate-App.json), so tsc rejects a misspelt or mistyped property;
// CDK tokens (parameters, Fn.ref, getAtt) are strings, numbers and lists like any other value.
import { CfnResource, Reference, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { FargateAppAttribute, FargateAppProps } from './fargate-app-props';

export { FargateAppAttribute, FargateAppProps } from './fargate-app-props';

export class FargateApp extends CfnResource {
  constructor(scope: Construct, id: string, props: FargateAppProps) {
    super(scope, id, { type: 'Fargate::App', properties: props });
    // The macro must run on any stack holding an App; added once however many Apps there are.
    const stack = Stack.of(this);
    if (!(stack.templateOptions.transforms ?? []).includes('FargateApp')) {
      stack.addTransform('FargateApp');
    }
  }

  /** `Fn::GetAtt` of one of the App's attributes (an unknown name fails tsc). */
  public attr(name: FargateAppAttribute): Reference {
    return this.getAtt(name);
  }

  /** Where the app answers: http(s)://host[:port][/path]. */
  public get attrUrl(): string {
    return this.attr('Url').toString();
  }

  /** The ECS service's ARN (what `Ref` of the App returns). */
  public get attrServiceArn(): string {
    return this.ref;
  }
}
