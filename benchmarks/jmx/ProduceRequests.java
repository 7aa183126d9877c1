import com.sun.tools.attach.VirtualMachine;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

// Produce requests a running Kafka broker has served, summed over request versions: the
// JVM is attached (no JMX port needed), its local management agent started and read.
//     java benchmarks/jmx/ProduceRequests.java <broker pid>
public class ProduceRequests {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        String address = vm.startLocalManagementAgent();
        vm.detach();
        try (var connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection mbeans = connector.getMBeanServerConnection();
            long total = 0;
            for (ObjectName name : mbeans.queryNames(new ObjectName(
                    "kafka.network:type=RequestMetrics,name=RequestsPerSec,request=Produce,*"), null)) {
                total += ((Number) mbeans.getAttribute(name, "Count")).longValue();
            }
            System.out.println(total);
        }
    }
}
