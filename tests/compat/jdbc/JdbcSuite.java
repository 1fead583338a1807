// pgjdbc against a running Sightline: the DatabaseMetaData calls Metabase, DBeaver and Tableau
// make, prepared statements with parameters, and setFetchSize streaming. Usage:
//   javac -cp /usr/share/java/postgresql.jar -d OUT JdbcSuite.java
//   java -cp OUT:/usr/share/java/postgresql.jar JdbcSuite jdbc:postgresql://127.0.0.1:5432/sightline?user=sightline
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcSuite {
    interface Check { void run() throws Exception; }

    static final List<String[]> results = new ArrayList<>();

    static void check(String name, Check c) {
        try {
            c.run();
            results.add(new String[] {name, null});
        } catch (Throwable e) {
            String msg = String.valueOf(e.getMessage());
            int nl = msg.indexOf('\n');
            results.add(new String[] {name, e.getClass().getSimpleName() + ": " + (nl > 0 ? msg.substring(0, nl) : msg)});
        }
    }

    static void require(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static int count(ResultSet rs) throws SQLException {
        int n = 0;
        while (rs.next()) n++;
        rs.close();
        return n;
    }

    public static void main(String[] args) throws Exception {
        Connection conn = DriverManager.getConnection(args[0]);
        DatabaseMetaData md = conn.getMetaData();

        check("getDatabaseProductName/Version", () -> {
            require(md.getDatabaseProductName().equals("PostgreSQL"), md.getDatabaseProductName());
            require(md.getDatabaseMajorVersion() >= 14, md.getDatabaseProductVersion());
        });
        check("getCatalogs", () -> require(count(md.getCatalogs()) >= 1, "no catalogs"));
        check("getSchemas", () -> {
            Set<String> names = new HashSet<>();
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) names.add(rs.getString("TABLE_SCHEM"));
            }
            require(names.contains("public"), names.toString());
        });
        check("getTables(public, TABLE)", () -> {
            Set<String> names = new HashSet<>();
            try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) names.add(rs.getString("TABLE_NAME"));
            }
            require(names.containsAll(List.of("orders", "customers", "events")), names.toString());
        });
        check("getColumns(orders)", () -> {
            Map<String, Integer> types = new HashMap<>();
            try (ResultSet rs = md.getColumns(null, "public", "orders", "%")) {
                while (rs.next()) types.put(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE"));
            }
            require(types.get("order_id") == Types.BIGINT, types.toString());
            require(types.get("ts") == Types.TIMESTAMP, types.toString());
            require(types.get("total") == Types.NUMERIC, types.toString());
        });
        check("getPrimaryKeys(orders)", () -> count(md.getPrimaryKeys(null, "public", "orders")));
        check("getImportedKeys(orders)", () -> count(md.getImportedKeys(null, "public", "orders")));
        check("getIndexInfo(orders)", () -> count(md.getIndexInfo(null, "public", "orders", false, true)));
        check("getTypeInfo", () -> require(count(md.getTypeInfo()) > 10, "few types"));
        // pgjdbc lists prokind 'f' only (as on PostgreSQL 11+): scalar and table functions, not
        // aggregates or window functions.
        check("getFunctions lists Sightline's functions", () -> {
            Set<String> names = new HashSet<>();
            try (ResultSet rs = md.getFunctions(null, "public", "%")) {
                while (rs.next()) names.add(rs.getString("FUNCTION_NAME"));
            }
            require(names.contains("rfm_segment") && names.contains("funnel_report"), names.toString());
        });
        check("prepared statement with parameters", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT order_id, total, ts FROM orders WHERE customer_id = ? AND total > ? AND channel <> ? ORDER BY order_id LIMIT 5")) {
                ps.setLong(1, 2);
                ps.setBigDecimal(2, new BigDecimal("1.50"));
                ps.setString(3, "nope");
                try (ResultSet rs = ps.executeQuery()) {
                    require(rs.next(), "no rows");
                    require(rs.getBigDecimal(2).compareTo(new BigDecimal("1.5")) > 0, "total");
                    require(rs.getTimestamp(3) != null, "ts");
                }
            }
        });
        check("prepared statement reused 10 times (server-side prepare)", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM orders WHERE customer_id = ?")) {
                for (int i = 1; i <= 10; i++) {
                    ps.setLong(1, i);
                    try (ResultSet rs = ps.executeQuery()) { require(rs.next(), "row"); }
                }
            }
        });
        check("setFetchSize streaming of a large result", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(1000);
                long n = 0;
                try (ResultSet rs = st.executeQuery("SELECT value FROM range(0, 200000)")) {
                    while (rs.next()) n++;
                }
                require(n == 200000, "rows " + n);
            } finally {
                conn.commit();
                conn.setAutoCommit(true);
            }
        });
        check("analytic function through JDBC", () -> {
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT rfm_segment(5, 5, 5)")) {
                require(rs.next() && rs.getString(1).equals("Champions"), "segment");
            }
        });
        check("SQLSTATE on errors", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM no_such_table");
                throw new AssertionError("no error");
            } catch (SQLException e) {
                require("42P01".equals(e.getSQLState()), e.getSQLState());
            }
        });

        int failed = 0;
        for (String[] r : results) {
            System.out.printf("%s\t%s\t%s%n", r[1] == null ? "PASS" : "FAIL", r[0], r[1] == null ? "" : r[1]);
            if (r[1] != null) failed++;
        }
        System.out.printf("pgjdbc %s: %d/%d passed%n", md.getDriverVersion(), results.size() - failed, results.size());
        conn.close();
        System.exit(failed == 0 ? 0 : 1);
    }
}
