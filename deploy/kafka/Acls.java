// Creates the local secure broker's ACLs with Kafka's own Admin client (the Python client
// has no ACL API). `contactmoment dev up --secure` runs it with the source launcher:
//   java -cp '.local/kafka/lib/*' deploy/kafka/Acls.java <admin.properties>  < rules
// Each line of standard input is one ALLOW rule:
//   <principal>|<operation>|<resource type>|<pattern type>|<resource name>
// e.g. User:api|WRITE|TOPIC|LITERAL|contact.events.v1. Creating an existing rule is a no-op.
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class Acls {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) {
            props.load(in);
        }
        List<AclBinding> bindings = new ArrayList<>();
        BufferedReader rules =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = rules.readLine()) != null; ) {
            if (line.isBlank()) continue;
            String[] f = line.split("\\|", -1);
            bindings.add(
                    new AclBinding(
                            new ResourcePattern(
                                    ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3])),
                            new AccessControlEntry(
                                    f[0], "*", AclOperation.valueOf(f[1]), AclPermissionType.ALLOW)));
        }
        try (Admin admin = Admin.create(props)) {
            admin.createAcls(bindings).all().get();
        }
        System.out.println("created " + bindings.size() + " ACL rules");
    }
}
